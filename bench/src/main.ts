console.log("bench: not implemented yet");
