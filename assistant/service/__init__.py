"""`hushtype up` (everything running), `hushtype doctor`, and the shared AssistantContext."""
