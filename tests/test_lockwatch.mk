test_lockwatch_MODULES = ../chapters/05-deadlock/lockwatch.c
