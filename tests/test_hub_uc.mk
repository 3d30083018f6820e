# the same tests as test_hub, on the portable ucontext switch
test_hub_uc_MODULES = ../chapters/07-coroutine/coro_ucontext.c ../chapters/07-coroutine/hub.c
