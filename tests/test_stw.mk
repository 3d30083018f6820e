# the tests of chapter 12's stop-the-world (12-nogil)
test_stw_MODULES = ../chapters/12-nogil/stw.c
