"""What a person sees, in a real browser: the distribution's headless Chromium
(:mod:`reslab.browser`) loads the lab's page from the local web tier (a lab deployed by the real
deploy machine) and a PASS and a FAIL backup report rendered from real checks of two real
PostgreSQL databases, and reads them as rendered: visible text, computed colours, loaded images,
screenshot pixels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread

from reslab.browser import Browser, Page
from reslab.chaos import chart
from reslab.checks import run_checks
from reslab.docshots import REGION, deploy_local_lab
from reslab.localcloud.testing import unique_prefix
from reslab.reports import render_html
from tests.checks.sample import clone, execute, populate
from tests.dbservers import fresh_postgres

WIDTH, HEIGHT = 1100, 800
RAW_JSON = re.compile(r'[{\[]\s*"|"\s*:\s*[{\["0-9]')
GREEN, RED = (31, 122, 61), (180, 35, 24)  # the report's banner colours


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(WIDTH, HEIGHT) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def lab_url(local_cloud: Any) -> Iterator[str]:
    lab = deploy_local_lab(local_cloud, unique_prefix("brw"))
    url = lab.output("Web", "WebsiteURL")
    assert url
    yield url
    # free its databases and web app for the rest of the session
    for suffix, region in (("Web", REGION), ("Replica", "us-west-2"), ("Database", REGION)):
        local_cloud.client("cloudformation", region).delete_stack(
            StackName=f"{lab.stack_prefix}{suffix}"
        )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """report.html of a faithful copy (PASS) and of a copy missing rows (FAIL)."""
    out = tmp_path_factory.mktemp("reports")
    with fresh_postgres("reslab_src") as source, fresh_postgres("reslab_tgt") as target:
        populate(source)
        clone(source, target)
        (out / "pass.html").write_text(render_html(run_checks(source, target)), encoding="utf-8")
        execute(target, "DELETE FROM orders WHERE id > 3")
        (out / "fail.html").write_text(render_html(run_checks(source, target)), encoding="utf-8")
    return {"pass": out / "pass.html", "fail": out / "fail.html"}


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", css)[:3])


def pixel(png: Path, x: int, y: int) -> tuple[int, ...]:
    image = imread(png)  # floats 0..1, rows first
    return tuple(round(float(c) * 255) for c in image[y][x][:3])


def shot(page: Page, path: Path) -> Path:
    page.screenshot(path)
    assert chart.png_size(path) == (WIDTH, HEIGHT)
    assert imread(path)[:, :, :3].std() > 0.05, "a blank screenshot"
    return path


def images_loaded(page: Page) -> list[dict[str, Any]]:
    """Every <img> of the page once loaded or failed: src and naturalWidth."""
    return page.evaluate(  # type: ignore[no-any-return]
        """Promise.all([...document.images].map(async img => {
             try { await img.decode(); } catch (e) {}
             return {src: img.currentSrc, naturalWidth: img.naturalWidth};
           }))"""
    )


def test_the_lab_page_as_a_participant_sees_it(
    browser: Browser, lab_url: str, tmp_path: Path
) -> None:
    page = browser.open(lab_url)
    text = page.text()
    mode = page.evaluate("document.getElementById('mode').innerText")
    assert mode in ("fragile", "resilient")
    assert f"{mode} mode" in text  # the header says it too
    instance = page.evaluate("document.getElementById('instance-id').innerText")
    az = page.evaluate("document.getElementById('az').innerText")
    assert re.fullmatch(r"i-[0-9a-f]{8,17}", instance) and re.fullmatch(r"us-east-2[a-z]", az)
    assert f"Instance {instance} in {az}" in text
    hits = page.evaluate("document.getElementById('recent-hits').innerText")
    assert hits.isdigit() and int(hits) >= 1  # this visit counts
    assert not RAW_JSON.search(text) and "Traceback" not in text
    # every image on the page (the website image, when the lab has one) has really loaded
    broken = [i for i in images_loaded(page) if i["naturalWidth"] == 0]
    assert broken == []
    # the header band is black on the screenshot, the body white
    png = shot(page, tmp_path / "page.png")
    assert pixel(png, 5, 5) == (0, 0, 0) and pixel(png, WIDTH - 5, HEIGHT - 5) == (255, 255, 255)


@pytest.mark.parametrize("verdict", ["pass", "fail"])
def test_a_backup_report_as_an_auditor_sees_it(
    browser: Browser, reports: dict[str, Path], verdict: str, tmp_path: Path
) -> None:
    page = browser.open(reports[verdict].as_uri())
    banner = page.evaluate("document.querySelector('.banner').innerText").splitlines()
    assert banner[0].startswith(f"Backup check {verdict.upper()}")
    assert re.match(r"\d+ checks: \d+ passed, \d+ failed", banner[1])
    colour = rgb(
        page.evaluate("getComputedStyle(document.querySelector('.banner')).backgroundColor")
    )
    assert colour == (GREEN if verdict == "pass" else RED)
    text = page.text()
    assert not RAW_JSON.search(text), RAW_JSON.search(text)
    assert page.evaluate("document.querySelectorAll('td.v ul li').length") > 0  # lists as lists
    statuses = page.evaluate("[...document.querySelectorAll('td.status')].map(td => td.innerText)")
    assert statuses and set(statuses) <= {"PASS", "FAIL", "SKIP"}
    if verdict == "fail":
        assert "FAIL" in statuses
        assert "The restored copy holds 3 rows of `orders`, the source 2,000." in text
    else:
        assert "FAIL" not in statuses
    # what the eye meets first: the banner's colour at the top of the screenshot
    png = shot(page, tmp_path / f"{verdict}.png")
    assert pixel(png, 5, 5) == colour
