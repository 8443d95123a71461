// Configuration and command line of the topicdb binary (filled in by app/config.cc).
