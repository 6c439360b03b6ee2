"""Demo, development DICOM servers and synthetic studies: for `adit demo`, tests, benchmarks."""
