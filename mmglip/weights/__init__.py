"""How weights get into a GLIP model.

* :mod:`.official`: the official (microsoft/GLIP) checkpoint layout <->
  mmglip's, as pure functions on state dicts, and the check that a
  checkpoint's layout is the model's variant;
* :mod:`.load`: the one loading path, from any source (an official or
  mmglip file, a zoo name, a loaded dict) to a model, with a report;
* :mod:`.schemes`: the same door for mmengine's loader (``load_from=``,
  ``init_cfg``): ``mmglip://NAME``, ``hf://...`` and official files;
* :mod:`.fetch`: a zoo model's official file by name, its bytes verified by
  :mod:`mmglip.zoo` and its content checked here.

Models take mmglip-layout weights only: conversion happens here, at the
door. Import the names from their modules (``from mmglip.weights.load
import load_weights``; ``mmglip.apis`` re-exports the loading API).
"""
