# Installation layout and packaging: the binary, the completion scripts where each shell looks for
# them, the manual page, and a Debian package built by CPack (`cpack -G DEB` in the build
# directory). Only the oncall program is installed: the sandbox and the tests stay in the build tree.
set(ONCALL_COMPLETIONS_DIR "${PROJECT_SOURCE_DIR}/completions")
# `make install` and CPack install what was built; they do not build every target first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS oncall RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# bash-completion loads share/bash-completion/completions/<command> on first use.
set(ONCALL_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
    CACHE STRING "bash completion directory, relative to the prefix")
install(FILES "${ONCALL_COMPLETIONS_DIR}/oncall.bash" DESTINATION "${ONCALL_BASH_COMPLETION_DIR}"
        RENAME oncall)

# fish reads vendor_completions.d under each of its data directories.
set(ONCALL_FISH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d"
    CACHE STRING "fish completion directory, relative to the prefix")
install(FILES "${ONCALL_COMPLETIONS_DIR}/oncall.fish" DESTINATION "${ONCALL_FISH_COMPLETION_DIR}")

# zsh: Debian's zsh searches /usr/share/zsh/vendor-completions for packaged functions and
# <prefix>/share/zsh/site-functions for local installs, so the directory follows the prefix that
# is in force when installing (cmake --install --prefix, or /usr inside the .deb).
set(ONCALL_ZSH_COMPLETION_DIR "" CACHE STRING
    "zsh completion directory, relative to the prefix (default: share/zsh/vendor-completions for /usr, share/zsh/site-functions otherwise)")
install(CODE "
  set(_oncall_zsh_dir \"${ONCALL_ZSH_COMPLETION_DIR}\")
  if(NOT _oncall_zsh_dir)
    if(CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/?$\")
      set(_oncall_zsh_dir share/zsh/vendor-completions)
    else()
      set(_oncall_zsh_dir share/zsh/site-functions)
    endif()
  endif()
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/\${_oncall_zsh_dir}\" TYPE FILE
       FILES \"${ONCALL_COMPLETIONS_DIR}/_oncall\")
")

install(FILES "${ONCALL_MAN_PAGE_INSTALLED}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")

# Debian package.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "oncall")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION "oncall says what is broken, since when, what changed and what to type \
next; it fixes only by replacing artifacts through the deployment engine's API, and grants access \
per role, per service and for a limited time.")
set(CPACK_PACKAGE_CONTACT "oncall maintainers <oncall@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion, kubectl | kubernetes-client")
# Runtime libraries: dpkg-shlibdeps (dpkg-dev) reads them off the binary, with versions; without it,
# the libraries the binary links, by their Debian 12 package names.
find_program(ONCALL_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(ONCALL_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6 (>= 2.34), libcurl4 (>= 7.66.0), libfmt9, libgcc-s1, libsodium23, libssl3, libstdc++6, libyaml-cpp0.7")
endif()
include(CPack)
