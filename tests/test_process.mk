# the Process object of chapters/01-process (make test ONLY=01-process selects this test)
test_process_MODULES = ../chapters/01-process/process.c
