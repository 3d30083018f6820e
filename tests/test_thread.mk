test_thread_MODULES = ../chapters/04-thread/thread.c
