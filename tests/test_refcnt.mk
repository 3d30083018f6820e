# the tests of chapter 12's reference counts (12-nogil)
test_refcnt_MODULES = ../chapters/12-nogil/refcnt.c
