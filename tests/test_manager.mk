# the manager of chapters/10-shared (make test ONLY=10-shared selects this test)
test_manager_MODULES = ../chapters/10-shared/manager.c
