# cim_sim: the functional crossbar simulator (included from the top level until
# cimsim/CMakeLists.txt gathers the cost model and the simulator in one file).
add_library(cim_sim STATIC ${CMAKE_CURRENT_LIST_DIR}/src/crossbar.cpp)
target_include_directories(cim_sim PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(cim_sim PUBLIC cim_device cim_common PRIVATE Eigen3::Eigen OpenMP::OpenMP_CXX)
target_compile_options(cim_sim PRIVATE -O3)
