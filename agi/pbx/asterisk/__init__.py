"""The Asterisk driver: FastAGI control, AudioSocket media, native-bridge transfers, AMI."""
