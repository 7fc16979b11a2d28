module github.com/otwatch/otwatch

go 1.26.8
