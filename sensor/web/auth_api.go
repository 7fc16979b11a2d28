package web

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

// LoginRequest is the body of POST /auth/login (JSON, or the form fields
// username, password and next).
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Me is who is logged in: the answer of GET /auth/me and POST /auth/login.
type Me struct {
	User      string    `json:"user"`
	Role      auth.Role `json:"role"`
	RoleTitle string    `json:"role_title"`
	Via       string    `json:"via"`
	Expires   time.Time `json:"expires"`
	// CSRFToken goes into the X-CSRF-Token header (or csrf_token form
	// field) of every change made with the session cookie.
	CSRFToken string `json:"csrf_token,omitempty"`
}

func meOf(id auth.Identity) Me {
	return Me{User: id.User, Role: id.Role, RoleTitle: id.Role.Title(), Via: id.Via, Expires: id.Expires, CSRFToken: id.CSRFToken()}
}

// safeNext keeps a post-login redirect on this server: a path, not
// //host or /\host.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// login checks the credentials (JSON, or an HTML form) and sets the
// session cookie. Forms are redirected (303) to next on success, back to
// the login page with error=1 on failure; JSON gets Me or an error.
func (s *Server) login(c *gin.Context) {
	if err := s.sameOrigin(c.Request); err != nil {
		s.n.csrf.Add(1)
		s.fail(c, http.StatusForbidden, "login refused: "+err.Error())
		return
	}
	var req LoginRequest
	form := false
	switch c.ContentType() {
	case "application/json":
		if !s.bindJSON(c, &req) {
			return
		}
	case "application/x-www-form-urlencoded":
		form = true
		req.Username, req.Password = c.PostForm("username"), c.PostForm("password")
	default:
		s.fail(c, http.StatusUnsupportedMediaType, "expected Content-Type application/json or application/x-www-form-urlencoded")
		return
	}
	tried := clipString(strings.ToLower(strings.TrimSpace(req.Username)), 64)
	c.Set(keyAuditActor, tried)
	c.Set(keyAuditTarget, tried)
	l, err := s.auth.Login(c.Request.Context(), req.Username, req.Password, c.ClientIP(), c.Request.UserAgent())
	if err != nil {
		if form && c.GetHeader("HX-Request") == "" {
			// A browser form goes back to the login page.
			s.n.unauthorized.Add(1)
			c.Set(keyAuditResult, "denied")
			c.Set(keyAuditDetail, err.Error())
			c.Redirect(http.StatusSeeOther, s.cfg.LoginPath+"?error=1&next="+url.QueryEscape(safeNext(c.PostForm("next"))))
			c.Abort()
			return
		}
		s.failErr(c, err)
		return
	}
	c.Set(keyIdentity, l.Identity)
	s.setSessionCookie(c, l.SessionID, l.Identity.Expires)
	if form {
		next := safeNext(c.PostForm("next"))
		if c.GetHeader("HX-Request") != "" {
			c.Header("HX-Redirect", next)
			c.JSON(http.StatusOK, meOf(l.Identity))
			return
		}
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	c.JSON(http.StatusOK, meOf(l.Identity))
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// logout ends the session and clears the cookie. A form post is
// redirected to the login page.
func (s *Server) logout(c *gin.Context) {
	id, _ := identity(c)
	if id.Via != auth.ViaSession {
		s.fail(c, http.StatusBadRequest, "an API token has no session: revoke it with DELETE "+APIPrefix+"/tokens/{id}")
		return
	}
	if err := s.auth.Logout(c.Request.Context(), id); err != nil {
		s.failErr(c, err)
		return
	}
	s.clearSessionCookie(c)
	if c.ContentType() == "application/x-www-form-urlencoded" && c.GetHeader("HX-Request") == "" {
		c.Redirect(http.StatusSeeOther, s.cfg.LoginPath)
		return
	}
	if c.GetHeader("HX-Request") != "" {
		c.Header("HX-Redirect", s.cfg.LoginPath)
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	id, _ := identity(c)
	c.JSON(http.StatusOK, meOf(id))
}

// PasswordChange is the body of POST /auth/password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (s *Server) changeOwnPassword(c *gin.Context) {
	var r PasswordChange
	if !s.bindJSON(c, &r) {
		return
	}
	id, _ := identity(c)
	c.Set(keyAuditTarget, id.User)
	if err := s.auth.ChangeOwnPassword(c.Request.Context(), id, r.Current, r.New, c.ClientIP()); err != nil {
		s.failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) users(c *gin.Context) {
	us, err := s.auth.ListUsers(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(us, len(us), len(us), 0))
}

// NewUser is the body of POST /users. Without a password, one is
// generated and returned once.
type NewUser struct {
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password,omitempty"`
}

// UserCreated is the answer of POST /users and POST
// /users/{name}/password: Password is set only when it was generated, and
// is shown this once.
type UserCreated struct {
	User     auth.User `json:"user"`
	Password string    `json:"password,omitempty"`
}

func (s *Server) createUser(c *gin.Context) {
	var r NewUser
	if !s.bindJSON(c, &r) {
		return
	}
	role, err := auth.ParseRole(string(r.Role))
	if err != nil {
		s.failErr(c, err)
		return
	}
	generated := ""
	if r.Password == "" {
		if generated, err = auth.GeneratePassword(rand.Reader); err != nil {
			s.failErr(c, err)
			return
		}
		r.Password = generated
	}
	if n, err := auth.NormalizeName(r.Name); err == nil {
		c.Set(keyAuditTarget, n)
	} else {
		c.Set(keyAuditTarget, clipString(r.Name, 64))
	}
	u, err := s.auth.CreateUser(c.Request.Context(), r.Name, role, r.Password)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.Header("Location", APIPrefix+"/users/"+u.Name)
	c.JSON(http.StatusCreated, UserCreated{User: u, Password: generated})
}

// UserEdit is the body of PATCH /users/{name}.
type UserEdit struct {
	Role auth.Role `json:"role"`
}

func (s *Server) editUser(c *gin.Context) {
	name, ok := s.pathName(c)
	if !ok {
		return
	}
	var r UserEdit
	if !s.bindJSON(c, &r) {
		return
	}
	role, err := auth.ParseRole(string(r.Role))
	if err != nil {
		s.failErr(c, err)
		return
	}
	if err := s.auth.SetRole(c.Request.Context(), name, role); err != nil {
		s.failErr(c, err)
		return
	}
	u, err := s.auth.GetUser(c.Request.Context(), name)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUser(c *gin.Context) {
	name, ok := s.pathName(c)
	if !ok {
		return
	}
	if id, _ := identity(c); id.User == name {
		s.fail(c, http.StatusConflict, "you cannot delete yourself")
		return
	}
	if err := s.auth.DeleteUser(c.Request.Context(), name); err != nil {
		s.failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// PasswordReset is the body of POST /users/{name}/password; without a
// password, one is generated and returned once.
type PasswordReset struct {
	Password string `json:"password,omitempty"`
}

func (s *Server) resetPassword(c *gin.Context) {
	name, ok := s.pathName(c)
	if !ok {
		return
	}
	var r PasswordReset
	if !s.bindJSON(c, &r) {
		return
	}
	generated := ""
	if r.Password == "" {
		var err error
		if generated, err = auth.GeneratePassword(rand.Reader); err != nil {
			s.failErr(c, err)
			return
		}
		r.Password = generated
	}
	if err := s.auth.SetPassword(c.Request.Context(), name, r.Password); err != nil {
		s.failErr(c, err)
		return
	}
	u, err := s.auth.GetUser(c.Request.Context(), name)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, UserCreated{User: u, Password: generated})
}

// tokens lists the caller's tokens; an admin's list has everyone's.
func (s *Server) tokens(c *gin.Context) {
	id, _ := identity(c)
	owner := id.User
	if id.Role.AtLeast(auth.RoleAdmin) {
		owner = ""
	}
	ts, err := s.auth.Tokens(c.Request.Context(), owner)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(ts, len(ts), len(ts), 0))
}

// NewToken is the body of POST /tokens: the role defaults to the caller's,
// the lifetime to DefaultTokenDays.
type NewToken struct {
	Name          string    `json:"name"`
	Role          auth.Role `json:"role,omitempty"`
	ExpiresInDays int       `json:"expires_in_days,omitempty"`
}

// DefaultTokenDays is the default lifetime of an API token.
const DefaultTokenDays = 90

// TokenCreated is the answer of POST /tokens: Token is the secret, shown
// this once.
type TokenCreated struct {
	Token string     `json:"token"`
	Info  auth.Token `json:"info"`
}

// createToken makes a token for the caller. Only a session can: a token
// cannot mint tokens (it would outlive itself).
func (s *Server) createToken(c *gin.Context) {
	id, _ := identity(c)
	if id.Via != auth.ViaSession {
		s.n.forbidden.Add(1)
		s.fail(c, http.StatusForbidden, "forbidden: API tokens are created from a logged-in session, not with a token")
		return
	}
	var r NewToken
	if !s.bindJSON(c, &r) {
		return
	}
	role := id.Role
	if r.Role != "" {
		var err error
		if role, err = auth.ParseRole(string(r.Role)); err != nil {
			s.failErr(c, err)
			return
		}
	}
	days := r.ExpiresInDays
	if days == 0 {
		days = DefaultTokenDays
	}
	if days < 0 || days > 3650 {
		s.fail(c, http.StatusBadRequest, "expires_in_days must be from 1 to 3650")
		return
	}
	tok, info, err := s.auth.CreateToken(c.Request.Context(), id.User, r.Name, role, time.Duration(days)*24*time.Hour)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.Set(keyAuditTarget, info.ID)
	c.JSON(http.StatusCreated, TokenCreated{Token: tok, Info: info})
}

// deleteToken revokes one of the caller's tokens (an admin's: anyone's).
func (s *Server) deleteToken(c *gin.Context) {
	tid, ok := s.pathID(c)
	if !ok {
		return
	}
	id, _ := identity(c)
	owner := id.User
	if id.Role.AtLeast(auth.RoleAdmin) {
		owner = ""
	}
	if err := s.auth.DeleteToken(c.Request.Context(), tid, owner); err != nil {
		s.failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) auditLog(c *gin.Context) {
	var f store.AuditFilter
	var ok bool
	if f.Actor, ok = s.queryText(c, "actor"); !ok {
		return
	}
	if f.Result, ok = s.queryEnum(c, "result", "ok", "denied", "failed"); !ok {
		return
	}
	if f.Since, ok = s.queryTime(c, "since"); !ok {
		return
	}
	if f.Until, ok = s.queryTime(c, "until"); !ok {
		return
	}
	if f.Limit, ok = s.queryInt(c, "limit", 100, 1, 1000); !ok {
		return
	}
	if f.Offset, ok = s.queryInt(c, "offset", 0, 0, maxOffset); !ok {
		return
	}
	es, total, err := s.auth.AuditLog(c.Request.Context(), f)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(es, total, f.Limit, f.Offset))
}
