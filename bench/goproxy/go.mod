module goproxy

// Standard library only: builds offline with any Go from 1.19 (Debian 12) on.
go 1.19
