"""Break the lab on purpose and measure what the participant sees.

``faults`` is the table of failure modes, one row each: the runner, the ``reslab inject``
commands, the FIS export and the docs walk it. chaostoolkit-aws style, plain functions named by
what they do: ``actions`` change the world (as exact API calls, ``plan``), ``lookups`` read it
(each lab resource checked against the workshop tag; ``lab`` says which lab). ``journal`` records
every injection before it happens, so ``reslab recover`` can undo it after a crash; ``probe``
polls the website meanwhile; ``metrics``/``chart``/``hypothesis`` turn its samples into a
verdict; ``fis_templates``/``fis`` export the same failures as AWS FIS experiment templates;
``fault_docs`` writes the fault table in docs/lab-guide.md.
"""
