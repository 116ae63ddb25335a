//go:build !unix

package filevault

const nofollow = 0
