# mk/variant.mk: where a build goes. The default build (cc or gcc, no sanitizer) puts
# objects and programs beside their sources; any other compiler or sanitizer gets a
# directory of its own under build/, so builds never mix and switching back and forth
# rebuilds nothing:  CC=clang -> build/clang/   SAN=thread -> build/san-thread/
#                    CC=clang SAN=address,undefined -> build/clang-san-address-undefined/
comma := ,
empty :=
space := $(empty) $(empty)
VARIANT := $(strip $(if $(filter-out cc gcc,$(notdir $(firstword $(CC)))),$(notdir $(firstword $(CC)))) \
                   $(if $(strip $(SAN)),san-$(subst $(comma),-,$(strip $(SAN)))))
VARIANT := $(subst $(space),-,$(VARIANT))
BUILD   := $(TOP)$(if $(VARIANT),/build/$(VARIANT))
