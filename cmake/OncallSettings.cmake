# Compile settings and warnings shared by every target, as INTERFACE targets.
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(ONCALL_USE_CCACHE)
  find_program(ONCALL_CCACHE ccache)
  if(ONCALL_CCACHE)
    # Hits across clones and worktrees: paths under the source tree are hashed relative to it, and
    # the build folder's own path is left out of the hash (Debug builds would otherwise hash it).
    set(CMAKE_CXX_COMPILER_LAUNCHER
        "${CMAKE_COMMAND}" -E env "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}" CCACHE_NOHASHDIR=1
        "${ONCALL_CCACHE}")
  endif()
endif()

add_library(oncall_settings INTERFACE)
target_compile_features(oncall_settings INTERFACE cxx_std_20)
set_target_properties(oncall_settings PROPERTIES INTERFACE_CXX_EXTENSIONS OFF)
target_compile_definitions(oncall_settings INTERFACE
  ONCALL_VERSION="${PROJECT_VERSION}")

add_library(oncall_warnings INTERFACE)
target_compile_options(oncall_warnings INTERFACE -Wall -Wextra -Wpedantic)
