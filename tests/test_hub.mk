# the hub, on the hand-written x86-64 switch
test_hub_MODULES = ../chapters/07-coroutine/coro.c ../chapters/07-coroutine/hub.c
