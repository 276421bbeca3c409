#===- cmake/NNCInstall.cmake - install nnc as a CMake package -------------===#
#
# `cmake --install build --prefix P` installs the headers (and the headers
# tablegen generated), the libraries, the tools and P/lib/cmake/nnc with
# NNCConfig.cmake, its version file and the exported targets: NNC::nnc (an
# interface target linking every library), the split NNC::NNC* libraries,
# NNC::nnc_shared (libnnc.so, the C API) and the tools (NNC::nnc-compile,
# ...). Another project then needs only find_package(NNC CONFIG).
#
#===------------------------------------------------------------------------===#

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NNC_LIBRARIES
  NNCDialect NNCDialectTransforms NNCTransforms NNCConversion
  NNCCodegenCommon NNCCodegenCPU NNCCodegenGPU NNCPlanner NNCMemoryPlanner
  NNCFrontend NNCFrontendONNX NNCFrontendLoader NNCPipeline NNCExecutionEngine NNCCAPI
  NNCTraining NNCPlot
  NNCRuntimeCPU)
# The run-time libraries compiled code links (nnc-compile finds the archives
# next to itself, in <prefix>/lib).
set(NNC_RUNTIMES NNCRuntimeCPUShared)
if(NNC_HAVE_MPI)
  list(APPEND NNC_LIBRARIES NNCRuntimeMPI)
endif()
if(TARGET NNCRuntimeCUDA)
  list(APPEND NNC_LIBRARIES NNCRuntimeCUDA)
  list(APPEND NNC_RUNTIMES NNCRuntimeCUDAShared)
endif()
# The GPU target's all-reduce (nnc-compile --target=nvptx --all-reduce).
if(TARGET NNCRuntimeNCCL)
  list(APPEND NNC_LIBRARIES NNCRuntimeNCCL)
endif()
set(NNC_TOOLS nnc-opt nnc-compile nnc-plan nnc-translate)

# Consumers compile against nnc's headers and MLIR's (which nnc's include).
foreach(lib ${NNC_LIBRARIES} NNCCAPIShared)
  target_include_directories(${lib} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    ${MLIR_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
endforeach()
set_target_properties(NNCCAPIShared PROPERTIES EXPORT_NAME nnc_shared)

add_library(nnc INTERFACE)
target_link_libraries(nnc INTERFACE ${NNC_LIBRARIES})
target_compile_features(nnc INTERFACE cxx_std_17)

# Installed binaries find libMLIR/libLLVM where they were linked from.
set_target_properties(${NNC_TOOLS} NNCCAPIShared PROPERTIES
  INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS ${NNC_LIBRARIES} ${NNC_RUNTIMES} NNCCAPIShared nnc ${NNC_TOOLS}
  EXPORT NNCTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/nnc include/nnc-c
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/nnc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.inc"
  PATTERN "CMakeFiles" EXCLUDE)

set(NNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nnc)
install(EXPORT NNCTargets NAMESPACE NNC:: DESTINATION ${NNC_CMAKE_DIR})
configure_package_config_file(cmake/NNCConfig.cmake.in
  ${PROJECT_BINARY_DIR}/NNCConfig.cmake
  INSTALL_DESTINATION ${NNC_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/NNCConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/NNCConfig.cmake
  ${PROJECT_BINARY_DIR}/NNCConfigVersion.cmake
  DESTINATION ${NNC_CMAKE_DIR})
