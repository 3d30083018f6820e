# mk/platform.mk: stop at once, with a clear message, on a system too old for the
# workbook (mk/platform.sh says what it needs), instead of failing later in a compile
# error. Included by the top Makefile and by mk/rules.mk, after mk/variant.mk. The
# check runs once per build (each compiler and sanitizer build has its own) and leaves a
# stamp; it runs again after `make clean` or when mk/platform.sh changes. With
# WB_FAKE_GLIBC or WB_FAKE_LINUX in the environment (tests/test_platform.c) it always
# runs and never leaves a stamp.
PLATFORM_OK ?= $(TOP)/build/platform$(if $(VARIANT),-$(VARIANT)).ok
ifneq ($(if $(WB_FAKE_GLIBC)$(WB_FAKE_LINUX),,$(shell [ $(PLATFORM_OK) -nt $(TOP)/mk/platform.sh ] && echo ok)),ok)
  ifneq ($(shell sh $(TOP)/mk/platform.sh '$(CC)' $(PLATFORM_OK) >&2 && echo ok),ok)
    $(error this system is too old for the workbook: see above)
  endif
endif
