# Value and Array of chapters/10-shared (make test ONLY=10-shared selects this test)
test_sharedctypes_MODULES = ../chapters/10-shared/sharedctypes.c
