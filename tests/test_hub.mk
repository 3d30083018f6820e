# the hub, on the hand-written switch (x86-64 or aarch64)
test_hub_MODULES = ../chapters/07-coroutine/coro.c ../chapters/07-coroutine/hub.c
