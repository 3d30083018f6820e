# the start methods of chapters/10-shared (make test ONLY=10-shared selects this test)
test_launch_MODULES = ../chapters/10-shared/launch.c
