# mk/rules.mk: the build rules every Makefile of the workbook includes (after setting
# PROGS, and MODULES or LIBRARY/LIB_SRCS if it has them). In the style of TLPI's
# Makefile.inc: a chapter Makefile is a few lines, pattern rules do the rest.
#
#   PROGS    programs, one .c file each (process_basics.c -> process_basics); the
#            exercises' solutions are programs too, named with their directory
#            (solutions/fork_after_write), and include the chapter's headers as usual
#   MODULES  sources linked into every program of the directory; another chapter's
#            module is named by path (../02-queue/queue.c)
#   LIBRARY  a static library built from LIB_SRCS (common/ uses it)
#
#   COMPILE  the command that compiles and links, $(CC) unless the chapter wraps it
#            (13-cluster: MPICH_CC=$(CC) mpicc, MPICH's wrapper around the same compiler)
#
# Variables a user may set:  CC, CFLAGS (default -O2 -g), V=1 (show command lines),
# SAN=address,undefined or SAN=thread (sanitizer builds). Builds with another compiler
# or a sanitizer are kept under build/ (see mk/variant.mk) so they never mix.

.DEFAULT_GOAL := all
TOP   := $(realpath $(dir $(lastword $(MAKEFILE_LIST)))/..)
REL   := $(patsubst $(TOP)/%,%,$(CURDIR))
include $(TOP)/mk/variant.mk
include $(TOP)/mk/platform.mk

CFLAGS   ?= -O2 -g
WARN     := -std=c17 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wundef -Wno-format-nonliteral
# Stack-clash protection: a function whose frame is larger than a page touches each
# page in turn as it grows (gcc and clang). Without it, one big local array can step
# over a guard page in a single move and write into whatever lies below: a thread's or
# a coroutine's guard page is then no protection (chapter 07's coro.c). Only where the
# compiler takes it: clang 14 has it for x86-64 but not for aarch64, where it warns
# that the flag is unused. Without it WB_NO_STACK_CLASH is defined, and the tests
# that need it say they were skipped.
HARDEN   := $(shell $(CC) -Werror -fstack-clash-protection -x c -c -o /dev/null /dev/null 2>/dev/null \
                    && echo -fstack-clash-protection)
ifeq ($(HARDEN),)
  CPPFLAGS += -DWB_NO_STACK_CLASH
endif
TARGET   := $(shell $(CC) -dumpmachine 2>/dev/null)
# gcc for aarch64 probes a big frame only every 64 KiB: it assumes 64 KiB of guard
# below every stack (its default --param stack-clash-protection-guard-size=16). Our
# guards, and glibc's under thread stacks, are one page, so it is told 4 KiB (2^12,
# the least it takes); without this a 16 KiB frame skips the guard page on aarch64
# (tests/test_coro.c, test_big_frame_hits_guard_page). Only where the compiler takes it.
ifneq ($(findstring aarch64,$(TARGET)),)
  HARDEN += $(shell $(CC) -Werror -fstack-clash-protection --param stack-clash-protection-guard-size=12 \
                    -x c -c -o /dev/null /dev/null 2>/dev/null && echo --param stack-clash-protection-guard-size=12)
endif
# Feature-test macro, once for everything: _GNU_SOURCE brings POSIX 2008 plus the
# Linux calls the workbook shows (prctl, pidfd, pthread_setname_np, ...).
CPPFLAGS += -D_GNU_SOURCE -I$(TOP)/common -I.
LDLIBS   += -lpthread -lrt -lm
COMPILE  ?= $(CC)

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

# Where this directory's objects and programs go (mk/variant.mk): beside the sources,
# or for another compiler or a sanitizer build the same place under build/<variant>/.
ifneq ($(strip $(SAN)),)
  SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer
endif
OUT := $(BUILD)/$(REL)

# Intel CET shadow stacks: a CPU shadow stack checks every `ret` against a copy of the
# return address kept where programs cannot write, so code that switches stacks by hand
# (chapter 07's coroutines) would fault at the first `ret` onto another stack. The
# objects that do it are compiled with -fcf-protection=branch, which marks them as not
# shadow-stack compatible (IBT only in their .note.gnu.property); the linker ANDs the
# marks of all objects, so the program is not marked, and the kernel and glibc never
# turn shadow stacks on for it, whatever the compiler's default (Ubuntu's gcc has
# -fcf-protection on). aarch64's shadow stack is GCS (guarded control stack): coro.o is
# compiled there with -mbranch-protection=pac-ret+bti, which marks it BTI and PAC but
# never GCS (GCC 15's "standard" includes gcs), so the program is not marked GCS and
# glibc does not turn GCS on for it (coro.c says more).
NO_SHSTK := coro.o coro_simple.o bare_switch.o
ifneq ($(findstring x86_64,$(TARGET)),)
  $(foreach o,$(NO_SHSTK),$(eval $(OUT)/$(o): OBJFLAGS := -fcf-protection=branch))
endif
ifneq ($(findstring aarch64,$(TARGET)),)
  $(OUT)/coro.o: OBJFLAGS := -mbranch-protection=pac-ret+bti
endif
BUILDINFO := $(strip $(filter -O%,$(CFLAGS)) $(if $(SAN),-fsanitize=$(SAN)))
CPPFLAGS  += -DWB_BUILD='"$(BUILDINFO)"'
LIBCOMMON := $(BUILD)/common/libcommon.a

ifeq ($(V),1)
  Q :=
  say = @:
else
  Q := @
  say = @printf '  %-4s %s\n'
endif

# Rebuild everything when the compiler or flags change (make CC=clang after a gcc build):
# the stamp file changes only when they do, and every object depends on it. valgrind's
# header counts too: coro.c and testutil.c use it when it is there (to register
# stacks), so installing valgrind after a build must rebuild them.
FLAGS_NOW := $(COMPILE) $(HARDEN) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) $(LDLIBS) \
             $(wildcard /usr/include/valgrind/valgrind.h)
$(OUT)/.flags: FORCE
	@mkdir -p $(OUT)
	@[ "$$(cat $@ 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $@

MODULE_OBJS := $(patsubst %.c,$(OUT)/%.o,$(notdir $(MODULES)))
# <prog>_MODULES: sources only that program links (tests/ uses it)
$(foreach p,$(PROGS),$(eval $(OUT)/$(p): $(patsubst %.c,$(OUT)/%.o,$(notdir $($(p)_MODULES)))))
vpath %.c $(sort $(dir $(MODULES) $(foreach p,$(PROGS),$($(p)_MODULES))))

BINS := $(addprefix $(OUT)/,$(PROGS))

.PHONY: all clean list-progs FORCE
all: $(BINS) $(if $(LIBRARY),$(OUT)/$(LIBRARY))

$(OUT)/%.o: %.c $(OUT)/.flags
	$(say) CC $(REL)/$*.o
	$(Q)mkdir -p $(dir $@)
	$(Q)$(COMPILE) $(CPPFLAGS) $(WARN) $(HARDEN) $(CFLAGS) $(OBJFLAGS) $(SANFLAGS) -MMD -MP -c -o $@ $<

$(BINS): $(OUT)/%: $(OUT)/%.o $(MODULE_OBJS) $(LIBCOMMON)
	$(say) LINK $(REL)/$*
	$(Q)$(COMPILE) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

ifdef LIBRARY
$(OUT)/$(LIBRARY): $(patsubst %.c,$(OUT)/%.o,$(LIB_SRCS))
	$(say) AR $(REL)/$(LIBRARY)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
else
# common/ first; its own make decides whether anything needs doing
$(LIBCOMMON): FORCE
	@$(MAKE) --no-print-directory -C $(TOP)/common
endif

# `make -C chapters/01-process process_basics`: the short name stands for the full path
.PHONY: $(PROGS)
$(PROGS): %: $(OUT)/%

list-progs:
	@echo $(PROGS)

clean:
	rm -f $(BINS) $(OUT)/*.o $(OUT)/*.d $(OUT)/*/*.o $(OUT)/*/*.d $(OUT)/.flags $(if $(LIBRARY),$(OUT)/$(LIBRARY))

-include $(wildcard $(OUT)/*.d $(OUT)/*/*.d)
