# liblwkt: the runtime.  Sources: lwkt/src/*.c; tests: lwkt/tests/test_*.c.
LWKT_VERSION := 0.4.0
# The SONAME's number: bump it when the ABI breaks.
LWKT_SOVERSION := 2
LWKT_PC_REQUIRES := hwloc
LWKT_PC_LIBS := -llwkt -lboost_context -ldl -pthread
LWKT_SRCS := $(wildcard lwkt/src/*.c)
# Per-architecture context switch, where we have one (else Boost.Context).
LWKT_ASM := $(wildcard lwkt/src/ctx_$(shell uname -m).S)
LWKT_OBJS := $(LWKT_SRCS:%.c=$(B)/%.o) $(LWKT_ASM:%.S=$(B)/%.o)
LWKT_LIBS := $(call pc_libs,hwloc) -lboost_context -ldl

$(B)/liblwkt.a: $(LWKT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/liblwkt.so: $(LWKT_OBJS)
	$(CC) -shared -Wl,-soname,liblwkt.so.$(LWKT_SOVERSION) $(ALL_LDFLAGS) -o $@ $^ $(LWKT_LIBS)

ALL_TARGETS += $(B)/liblwkt.a $(B)/liblwkt.so
INSTALL_LIB += $(B)/liblwkt.a $(B)/liblwkt.so

# Tests: one Check binary per file.
TEST_CFLAGS := $(call pc_cflags,check) -Ilwkt/tests
TEST_LIBS := $(call pc_libs,check)
LWKT_TEST_SRCS := $(wildcard lwkt/tests/test_*.c)
LWKT_TEST_BINS := $(LWKT_TEST_SRCS:lwkt/tests/%.c=$(B)/tests/lwkt_%)
TEST_BINS += $(LWKT_TEST_BINS)

$(B)/lwkt/tests/%.o: MOD_CFLAGS = $(TEST_CFLAGS)
$(B)/tests/lwkt_%: $(B)/lwkt/tests/%.o $(B)/liblwkt.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LWKT_LIBS)

# The Promela model of the idle/wake protocol (model checking in make check).
-include lwkt/model/model.mk

# C++ users: every public header compiles as C++ (C++11, 17 and 20; the
# binary is the C++17 build) and the structs keep the C layout
# (lwkt/tests/test_cxx.cc against cxx_layout.c, compiled as C).
LWKT_CXX_FLAGS = $(CXXFLAGS) $(WARN) -pedantic -pthread $(SANFLAGS) \
	-Ilwkt/include -Ilwkt/tests $(call pc_cflags,check)
$(B)/lwkt/tests/cxx/test_cxx.o: lwkt/tests/test_cxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++11 $(LWKT_CXX_FLAGS) -fsyntax-only $<
	$(CXX) -std=c++20 $(LWKT_CXX_FLAGS) -fsyntax-only $<
	$(CXX) -std=c++17 $(LWKT_CXX_FLAGS) -MMD -MP -c $< -o $@
$(B)/tests/lwkt_test_cxx: $(B)/lwkt/tests/cxx/test_cxx.o \
		$(B)/lwkt/tests/cxx_layout.o $(B)/liblwkt.a
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LWKT_LIBS)
TEST_BINS += $(B)/tests/lwkt_test_cxx
-include $(B)/lwkt/tests/cxx/test_cxx.d
