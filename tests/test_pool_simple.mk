# the same tests as test_pool, those that apply, on the simple pool of chapters/03-pool
test_pool_simple_MODULES = ../chapters/03-pool/pool_simple.c
