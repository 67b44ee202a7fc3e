# Installation layout and packaging.
install(TARGETS oncall RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
