// Package tools only exists to hold the tool module.
package tools
