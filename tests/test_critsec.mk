# the tests of chapter 12's per-object critical sections (12-nogil)
test_critsec_MODULES = ../chapters/12-nogil/critsec.c
