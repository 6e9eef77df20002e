"""Break the lab on purpose and measure what the participant sees.

chaostoolkit-aws style: ``actions`` change the world, ``probes`` read it, plain functions taking
a boto3 client. ``faults`` is the data table of failure modes the runner walks; ``journal``
records every injection before it happens, so ``reslab recover`` can undo it after a crash;
``steady`` polls the website meanwhile; ``metrics``/``chart``/``hypothesis`` turn the samples
into a verdict; ``fis`` exports the same failures as AWS FIS experiment templates.
"""
