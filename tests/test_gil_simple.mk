# the minimal GIL of chapters/08-gil (gil_simple.c)
test_gil_simple_MODULES = ../chapters/08-gil/gil_simple.c
