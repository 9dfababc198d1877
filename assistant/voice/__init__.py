"""Push-to-talk voice input: capture, VAD, local Whisper (faster-whisper), clean-up, service."""
