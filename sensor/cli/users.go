package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

func newUser(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the web users (add, passwd, list) in the sensor's data directory",
	}
	addConfigFlags(cmd.PersistentFlags())

	var role string
	var fromStdin bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user with a role (admin, analyst or readonly); the password is generated and printed once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			return withAuth(cmd, func(ctx context.Context, as *auth.Service) error {
				pw, generated, err := password(cmd.InOrStdin(), fromStdin)
				if err != nil {
					return err
				}
				u, err := as.CreateUser(ctx, args[0], r, pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "user %q added with role %s\n", u.Name, r.Title())
				if generated {
					fmt.Fprintf(stdout, "password: %s\n", pw)
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&role, "role", "", "role: admin, analyst or readonly (required)")
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	add.MarkFlagRequired("role")

	var passwdStdin bool
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (generated and printed once) and end the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAuth(cmd, func(ctx context.Context, as *auth.Service) error {
				pw, generated, err := password(cmd.InOrStdin(), passwdStdin)
				if err != nil {
					return err
				}
				if err := as.SetPassword(ctx, args[0], pw); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "password of %q changed\n", args[0])
				if generated {
					fmt.Fprintf(stdout, "password: %s\n", pw)
				}
				return nil
			})
		},
	}
	passwd.Flags().BoolVar(&passwdStdin, "password-stdin", false, "read the password from the first line of standard input")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAuth(cmd, func(ctx context.Context, as *auth.Service) error {
				us, err := as.ListUsers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tLAST LOGIN")
				for _, u := range us {
					last := "never"
					if !u.LastLogin.IsZero() {
						last = u.LastLogin.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, last)
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(add, passwd, list)
	return cmd
}

// withAuth opens the sensor's database (the sensor may be running: SQLite
// serialises the writes) and the user service.
func withAuth(cmd *cobra.Command, fn func(context.Context, *auth.Service) error) error {
	cfg, err := loadConfig(cmd.Flags(), osGetenv)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("user: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "sensor.db"), store.Options{})
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	defer st.Close()
	as, err := auth.Open(st, auth.Config{})
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	return fn(ctx, as)
}

// password reads the password from stdin, or generates one.
func password(stdin io.Reader, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = auth.GeneratePassword(rand.Reader)
		return pw, true, err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("user: reading the password: %w", err)
	}
	pw = strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", false, fmt.Errorf("user: empty password on standard input")
	}
	return pw, false, nil
}
