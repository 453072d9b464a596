# cim_sim: the functional crossbar simulator (included from the top level, after quant/).
add_library(cim_sim STATIC ${CMAKE_CURRENT_LIST_DIR}/src/crossbar.cpp ${CMAKE_CURRENT_LIST_DIR}/src/simulator.cpp)
target_include_directories(cim_sim PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(cim_sim PUBLIC cim_quant cim_device cim_common PRIVATE Eigen3::Eigen OpenMP::OpenMP_CXX)
target_compile_options(cim_sim PRIVATE -O3)
# The hot loops need no errno from sqrt/log, so that they vectorize.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/crossbar.cpp PROPERTIES COMPILE_OPTIONS "-fno-math-errno")
