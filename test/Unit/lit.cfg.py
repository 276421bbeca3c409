# -*- Python -*-
# Runs every GoogleTest binary of build/unittests as lit tests, one lit test
# per test case, so the suite's summary counts them.

import os

import lit.formats

config.name = "NNC-Unit"
config.suffixes = []
config.test_source_root = config.nnc_unittests_dir
config.test_exec_root = config.nnc_unittests_dir
config.test_format = lit.formats.GoogleTest(".", "Tests")
