# the futex mutexes of chapters/09-sync (make test ONLY=09-sync selects this test)
test_futex_mutex_MODULES = ../chapters/09-sync/futex_mutex.c
