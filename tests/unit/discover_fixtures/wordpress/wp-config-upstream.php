<?php
/**
 * The base configuration for WordPress (from wp-config-sample.php).
 *
 * @package WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', 'shop_wp' );

/** Database username */
define( 'DB_USER', 'shop' );

/** Database password */
define( 'DB_PASSWORD', 'Sup3r-s3cret-PASSWORD' );

/** Database hostname */
define( 'DB_HOST', 'localhost' );

/** Database charset to use in creating database tables. */
define( 'DB_CHARSET', 'utf8mb4' );

/** The database collate type. Don't change this if in doubt. */
define( 'DB_COLLATE', '' );

/**#@+
 * Authentication unique keys and salts.
 */
define( 'AUTH_KEY',         'k3y-that-must-never-leak-0001' );
define( 'SECURE_AUTH_KEY',  'k3y-that-must-never-leak-0002' );
define( 'LOGGED_IN_KEY',    'k3y-that-must-never-leak-0003' );
define( 'NONCE_KEY',        'k3y-that-must-never-leak-0004' );
define( 'AUTH_SALT',        's4lt-that-must-never-leak-0005' );
define( 'SECURE_AUTH_SALT', 's4lt-that-must-never-leak-0006' );
define( 'LOGGED_IN_SALT',   's4lt-that-must-never-leak-0007' );
define( 'NONCE_SALT',       's4lt-that-must-never-leak-0008' );
/**#@-*/

/**
 * WordPress database table prefix.
 */
$table_prefix = 'shop_';

// define( 'DB_NAME', 'commented_out' );
# define('WP_CONTENT_DIR', '/nowhere');
/* define('WP_HOME', 'http://commented.example'); */

/* That's all, stop editing! Happy publishing. */

/** Absolute path to the WordPress directory. */
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

/** Sets up WordPress vars and included files. */
require_once ABSPATH . 'wp-settings.php';
