# the start methods of chapters/10-shared (make test ONLY=10-shared selects this test)
test_startmethod_MODULES = ../chapters/10-shared/startmethod.c ../chapters/10-shared/forkserver.c
