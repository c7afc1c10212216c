module github.com/verdictpdp/verdict/policies/rbac

go 1.25.0

require github.com/verdictpdp/verdict/sdk/go v0.0.0

replace github.com/verdictpdp/verdict/sdk/go => ../../sdk/go
