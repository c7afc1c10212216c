package verdict

// Level is the severity of a log message.
type Level uint32

// Log levels, as the host's log import numbers them.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Log sends msg to the host's log at level (the host keeps at most 64 KiB
// per call). In a native build (tests) it writes to standard error.
func Log(level Level, msg string) { hostLog(level, msg) }

// LogDebug logs msg at LevelDebug.
func LogDebug(msg string) { hostLog(LevelDebug, msg) }

// LogInfo logs msg at LevelInfo.
func LogInfo(msg string) { hostLog(LevelInfo, msg) }

// LogWarn logs msg at LevelWarn.
func LogWarn(msg string) { hostLog(LevelWarn, msg) }

// LogError logs msg at LevelError.
func LogError(msg string) { hostLog(LevelError, msg) }
