# PROXYNODE_SANITIZE=address  -> AddressSanitizer + UndefinedBehaviorSanitizer
# PROXYNODE_SANITIZE=thread   -> ThreadSanitizer
set(PROXYNODE_SANITIZE "" CACHE STRING "Sanitizer build: '', 'address' (ASan+UBSan) or 'thread' (TSan)")
if(PROXYNODE_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(PROXYNODE_SANITIZE STREQUAL "thread")
  # -Wno-tsan: GCC warns that TSan does not model atomic_thread_fence (used by headers we
  # include, not by our code); the warning would fail -Werror builds.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT PROXYNODE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "PROXYNODE_SANITIZE must be '', 'address' or 'thread'")
endif()
