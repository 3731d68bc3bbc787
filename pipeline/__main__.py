from pipeline.launch import entry

entry()
