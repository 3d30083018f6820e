test_rlock_MODULES = ../chapters/06-rlock/rlock.c
