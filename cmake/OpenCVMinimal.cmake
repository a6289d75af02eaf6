# Debian's minimal OpenCV -dev packages ship no OpenCVConfig.cmake (only libopencv-dev does,
# and it drags in every module). Import the three modules Osprey uses directly.
find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(m core imgproc imgcodecs)
  find_library(OpenCV_${m}_LIBRARY NAMES opencv_${m} REQUIRED)
  add_library(opencv_${m} UNKNOWN IMPORTED)
  set_target_properties(opencv_${m} PROPERTIES
    IMPORTED_LOCATION "${OpenCV_${m}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OpenCV_INCLUDE_DIR}")
endforeach()
set_property(TARGET opencv_imgproc APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_core)
set_property(TARGET opencv_imgcodecs APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_imgproc opencv_core)
