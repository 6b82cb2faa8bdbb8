"""Export: TFLite conversion, running .tflite files, exporting a run's winner."""
