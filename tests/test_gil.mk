# the tests of chapter 08's simulated GIL
test_gil_MODULES = ../chapters/08-gil/gil.c ../chapters/08-gil/gil_workload.c
