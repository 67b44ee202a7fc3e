# Compile settings and warnings shared by every target, as INTERFACE targets.
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(ONCALL_USE_CCACHE)
  find_program(ONCALL_CCACHE ccache)
  if(ONCALL_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${ONCALL_CCACHE}")
  endif()
endif()

add_library(oncall_settings INTERFACE)
target_compile_features(oncall_settings INTERFACE cxx_std_20)
set_target_properties(oncall_settings PROPERTIES INTERFACE_CXX_EXTENSIONS OFF)
target_compile_definitions(oncall_settings INTERFACE
  ONCALL_VERSION="${PROJECT_VERSION}")

add_library(oncall_warnings INTERFACE)
target_compile_options(oncall_warnings INTERFACE -Wall -Wextra -Wpedantic)
