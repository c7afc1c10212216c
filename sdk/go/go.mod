module github.com/verdictpdp/verdict/sdk/go

go 1.25.0
